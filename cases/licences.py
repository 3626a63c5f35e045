"""E-licences (电子证照): issued when a licensing service is approved; verified in public by code."""
