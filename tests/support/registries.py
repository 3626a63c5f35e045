"""A demo household registry that counts what reaches it, to show that a refused request never
does (tests/test_sharing.py)."""

from cases.sharing.demo import HouseholdRegistry


class CountingHouseholdRegistry(HouseholdRegistry):
    asked: list[list[str]] = []  # the fields of every lookup that reached the registry

    def lookup(self, person, fields):
        type(self).asked.append(list(fields))
        return super().lookup(person, fields)


class WatchingHouseholdRegistry(HouseholdRegistry):
    """The registry client as the submission reaches it: whether a transaction was open on the
    caller's connection at each lookup, and something to do meanwhile (a concurrent change)."""

    in_transaction: list[bool] = []
    meanwhile = None

    def lookup(self, person, fields):
        from django.db import connection

        type(self).in_transaction.append(connection.in_atomic_block)
        if type(self).meanwhile is not None:
            type(self).meanwhile()
        return super().lookup(person, fields)
