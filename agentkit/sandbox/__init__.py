"""Run model-written Python in a hardened, throwaway Docker container."""
