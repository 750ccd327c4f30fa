"""Operating a deployed SocialOmega: preflight checks (preflight.py) and the operator CLI's environment."""
