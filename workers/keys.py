"""Every arq job id and every Redis key kept next to arq's is built here, and only here, from the queue name.

arq job ids are global in a Redis database, not per queue: an id derived from tenant, scheme and period alone would
collide with the same id of another deployment sharing the Redis (its tenant 1 is not ours), or with a job that a
killed worker left on another queue, and arq refuses to enqueue an id it holds. So every id we derive starts with our
queue's name, and the keys that track our jobs (in-flight close, pending refresh, attempts) are derived from those ids
or carry the queue name themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from arq.constants import in_progress_key_prefix, job_key_prefix

from server.settings import Settings


@dataclass(frozen=True)
class JobKeys:
    queue: str

    @property
    def refresh_queue(self) -> str:
        """Provisional refreshes have a queue of their own, so closes never wait behind them."""
        return f"{self.queue}:refresh"

    def close_job_id(self, tenant_id: int, scheme_id: int, period_key: str) -> str:
        """One close per period at a time: a second request while it is queued or running joins it."""
        return f"{self.queue}:close:{tenant_id}:{scheme_id}:{period_key}"

    def refresh_job_id(self, token: str) -> str:
        return f"{self.queue}:refresh:{token}"

    def cron_name(self, function_name: str) -> str:
        """arq names a unique cron job's runs `<name>:<run time in ms>`: the name carries the queue."""
        return f"{self.queue}:{function_name}"

    def grading_job_id(self, tenant_id: int, month: str) -> str:
        """One grading of a tenant's month at a time: a second request while it is queued or running joins it."""
        return f"{self.queue}:grading:{tenant_id}:{month}"

    def close_in_flight(self, close_job_id: str) -> str:
        """Tracking id (GraphQL `job(id)`) of the close that holds this arq id."""
        return f"kaohe:inflight:{close_job_id}"

    def close_attempts(self, close_job_id: str) -> str:
        """How many times a close of this period started without finishing (worker killed, timed out)."""
        return f"kaohe:attempts:{close_job_id}"

    def pending_refresh(self, tenant_id: int, scheme_id: int, period_key: str) -> str:
        """Tracking id of the refresh of this period that is queued and not started yet (at most one)."""
        return f"kaohe:pending-refresh:{self.queue}:{tenant_id}:{scheme_id}:{period_key}"

    @staticmethod
    def arq_job(arq_job_id: str) -> str:
        """arq's own key of a queued or running job."""
        return job_key_prefix + arq_job_id

    @staticmethod
    def arq_in_progress(arq_job_id: str) -> str:
        """arq's marker of a running job (it expires when a killed worker's job may run again)."""
        return in_progress_key_prefix + arq_job_id


def job_keys(settings: Settings) -> JobKeys:
    return JobKeys(settings.queue_name)
