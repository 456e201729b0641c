"""``python -m bot`` is the ``commops`` command."""

from bot.cli import main

main()
