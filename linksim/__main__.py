"""``python -m linksim``: the command line (linksim.app.cli)."""

from linksim.app.cli import main

if __name__ == "__main__":
    main()
