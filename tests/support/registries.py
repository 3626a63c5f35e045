"""A demo household registry that counts what reaches it, to show that a refused request never
does (tests/test_sharing.py)."""

from cases.sharing.demo import HouseholdRegistry


class CountingHouseholdRegistry(HouseholdRegistry):
    asked: list[list[str]] = []  # the fields of every lookup that reached the registry

    def lookup(self, person, fields):
        type(self).asked.append(list(fields))
        return super().lookup(person, fields)
