"""好差评: ratings and rectifications, their pages (online, counter tablet, department), API, templates."""
