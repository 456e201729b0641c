"""What every request passes through: the access check, the early ack, and the one reply path."""
