"""The access policy: who may do which action where (TOML grants, user groups, reloading)."""
