"""E-licences (电子证照): issuing and revoking, the holder's wallet, public verification, templates."""
