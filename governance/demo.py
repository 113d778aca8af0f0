def seed() -> None:
    """This app's part of the demo cooperative; it arrives with the app's issue."""
