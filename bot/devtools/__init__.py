"""What serves trials and tests, never the production path: the vendor sandbox, the Slack emulator, signed
payload builders, the terminal shell. Needs the ``devtools`` extra (starlette, uvicorn)."""
