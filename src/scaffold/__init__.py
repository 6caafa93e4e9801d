"""mlops-scaffold: stamp out production-grade ML repositories and keep them current.

The public API lives in `scaffold.api`; `scaffold.errors` holds what it raises.
"""
