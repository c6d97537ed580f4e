from enum import StrEnum


class Queue(StrEnum):
    DEFAULT = "default"  # user-requested operations: start them quickly
    POLLING = "polling"  # following DigitalOcean actions: many short tasks, never blocking the default queue
    PERIODIC = "periodic"  # beat's jobs: catalog pulls, drift sync, the reaper
