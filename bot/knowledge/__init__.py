"""A room's knowledge: files posted in a room, indexed so questions there can be answered from them."""
