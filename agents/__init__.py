"""The people of the site: the community, moderators, staff and bad actors."""
