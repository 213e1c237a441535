"""The web portal: an aiohttp app for sign-up, model choice, gallery and AI conversations."""
