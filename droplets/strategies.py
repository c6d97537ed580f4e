"""One strategy per operation: what to send to DigitalOcean, how to recognise work already done or in progress
that a lost answer left behind, and when the operation is over.

Adding an operation is one class here and one row in `states.py` (docs/operations.md, "Adding an operation").
Each `advance` acts on the phase the row is in, so it is safe to run again after a crash at any line:
- `pending`: nothing was sent; send it.
- `sending`: something may have been sent without its answer reaching us: look for it on DigitalOcean (an
  action of ours, a droplet with our tag) and adopt it, before sending again.
- `awaiting`: follow what DigitalOcean is doing until it is done.
A step entering `sending` is saved before the request goes out, so no crash can hide a request.
"""

import logging
import random
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from . import states
from .backend.base import SshKeySpec
from .backend.errors import NotFoundError, RejectedError, TransientError
from .observation import LookPutOff, observed_action, observed_droplet
from .states import Phase
from .steps import ACTION_CLOCK_SKEW, Done, Failed, Poll, Step, droplet_backend_tag

logger = logging.getLogger(__name__)


def _put_off(look: LookPutOff) -> Poll:
    """Look again when the account's shared look may be there (jitter: the polls put off together do not
    all come back in the same instant). Waiting for the budget spends no attempt; waiting for another
    poll's look does, as any poll does, so that the polls of a long operation still space out."""
    return Poll(after=look.seconds * random.uniform(1.0, 1.1), attempt=not look.for_budget)


# One strategy per operation name, filled in as the classes below are defined.
STRATEGIES: dict[str, "OperationStrategy"] = {}


class OperationStrategy:
    operation: states.Operation

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "operation" in cls.__dict__:  # a concrete strategy, not a shared base
            assert cls.operation.name not in STRATEGIES, f"two strategies for {cls.operation.name}"
            STRATEGIES[cls.operation.name] = cls()

    def advance(self, step: Step):
        raise NotImplementedError

    def at_deadline(self, step: Step):
        """Past the deadline: look at DigitalOcean first. Done is done; still running gets the deadline once
        more; anything else fails with what is known. Nothing new is sent any more."""
        step.past_deadline = True
        outcome = self.advance(step)
        if not isinstance(outcome, Poll):
            return outcome
        minutes = _minutes(self.operation.deadline)
        if not step.params.get("deadline_extended"):
            logger.warning(
                "Droplet %s: the %s is past its deadline but still running on DigitalOcean; waiting once",
                step.droplet.uuid.hex,
                self.operation.name,
            )
            step.save(
                operation_deadline=timezone.now() + self.operation.deadline,
                operation_params={**step.params, "deadline_extended": True},
            )
            return outcome
        return Failed(
            f"DigitalOcean did not finish the {self.operation.name} within {minutes * 2} minutes; it was "
            "still in progress there. Pull the droplet once it has finished to bring it in step."
        )

    def enter_sending(self, step: Step) -> None:
        """Saved before a request goes out: a crash after it is known to have maybe sent something."""
        step.save(
            operation_phase=Phase.SENDING,
            operation_params={**step.params, "sent_at": timezone.now().isoformat()},
        )

    def may_still_land(self, step: Step) -> bool:
        """Whether a request sent without its answer reaching us may still reach DigitalOcean: it is not
        sent again before DROPLET_LANDING_WINDOW has passed (DigitalOcean has taken over 10 s to answer)."""
        sent_at = step.params.get("sent_at")
        return (
            bool(sent_at)
            and timezone.now() < datetime.fromisoformat(sent_at) + settings.DROPLET_LANDING_WINDOW
        )

    def refuse_to_send(self, step: Step):
        """Past the deadline, a request that never went out is not sent any more."""
        minutes = _minutes(self.operation.deadline)
        reason = f": {step.droplet.operation_error}" if step.droplet.operation_error else "."
        return Failed(
            f"The {self.operation.name} could not be sent to DigitalOcean within {minutes} minutes{reason}"
        )

    def fields_on_failure(self, step: Step) -> dict:
        """Columns to put back when the operation fails (beyond state, error and runtime state)."""
        return {}


class ActionStrategy(OperationStrategy):
    """An operation that is one DigitalOcean droplet action (power_on, shutdown, resize…), done when the
    action has completed and the droplet's status is `done_status` (None: any)."""

    action_type: str
    done_status: str | None = None

    def send(self, step: Step) -> str:
        """Sends the action; returns its id."""
        raise NotImplementedError

    def action_type_for(self, step: Step) -> str:
        return self.action_type

    def advance(self, step: Step):
        if step.phase == Phase.AWAITING:
            return self.follow(step)
        if step.phase == Phase.SENDING:
            if self.adopt(step):
                return Poll()
            if self.may_still_land(step):
                return Poll()  # look again before sending a second one
        return self.send_and_follow(step)

    def adopt(self, step: Step) -> bool:
        """Follows what an earlier attempt whose answer was lost started on DigitalOcean, if anything."""
        ours = self.find_ours(step)
        if ours is not None:
            step.enter(Phase.AWAITING, action_id=ours.id)
        return ours is not None

    def send_and_follow(self, step: Step):
        if step.past_deadline:
            return self.refuse_to_send(step)
        self.enter_sending(step)
        try:
            action_id = self.send(step)
        except RejectedError:
            # DigitalOcean refuses a second action while the first runs ("pending event"), or because the
            # first already did the work ("already powered on"): an earlier attempt whose answer was lost.
            # That action is ours, running or done: follow it. Or DigitalOcean itself is busy with the
            # droplet (a backup, a migration): wait for that to end, then send ours.
            actions = step.backend.recent_actions(step.droplet.backend_id)
            ours = self.ours_among(step, actions)
            if ours is None:
                if _busy(step, actions):
                    step.enter(Phase.PENDING)
                    return Poll()
                raise
            action_id = ours.id
        except TransientError as error:
            if not error.may_have_landed:
                step.enter(Phase.PENDING)  # it never reached DigitalOcean: just send it again
            raise
        step.enter(Phase.AWAITING, action_id=action_id)
        return Poll()

    def find_ours(self, step: Step):
        """The action an earlier attempt of this operation started, if DigitalOcean has one."""
        return self.ours_among(step, step.backend.recent_actions(step.droplet.backend_id))

    def ours_among(self, step: Step, actions):
        """The newest action of this operation's type that started after the operation did."""
        since = step.droplet.operation_started - ACTION_CLOCK_SKEW
        action_type = self.action_type_for(step)
        return next(
            (
                a
                for a in actions
                if a.type == action_type and a.started_at is not None and a.started_at >= since
            ),
            None,
        )

    def follow(self, step: Step):
        droplet = step.droplet
        # When the action was seen done: a look at the droplet from before then may still show it busy.
        done_by = step.params.get("action_done_at") or time.time()
        if droplet.action_id:
            observed = observed_action(step, droplet.action_id)
            if isinstance(observed, LookPutOff):
                return _put_off(observed)
            seen_ago = 0.0
            if observed is not None:
                action, done_by = observed.action, observed.taken_at
                if observed.shared:
                    seen_ago = max(0.0, time.time() - observed.taken_at)
            else:
                action = step.backend.get_action(droplet.backend_id, droplet.action_id)
            if action.in_progress:
                return Poll(seen_ago=seen_ago)
            if action.errored:
                return self.on_errored(step, action)
            step.save(action_id="", operation_params={**step.params, "action_done_at": done_by})
        current = observed_droplet(step, done_by=done_by)
        if isinstance(current, LookPutOff):
            return _put_off(current)
        current = current or step.backend.get_droplet(droplet.backend_id)
        if self.done_status and current.status != self.done_status:
            return self.on_status_lag(step, current)
        return Done(current)

    def on_errored(self, step: Step, action):
        return Failed(
            f"DigitalOcean could not {self.operation.name} the droplet: its {action.type} action failed."
        )

    def on_status_lag(self, step: Step, current):
        return Poll()  # DigitalOcean's status lags behind its finished action: look again later


class StartStrategy(ActionStrategy):
    operation = states.START
    action_type = "power_on"
    done_status = "active"

    def send(self, step):
        return step.backend.power_on(step.droplet.backend_id)


class RestartStrategy(ActionStrategy):
    operation = states.RESTART
    action_type = "reboot"
    done_status = "active"

    def send(self, step):
        return step.backend.reboot(step.droplet.backend_id)


class StopStrategy(ActionStrategy):
    """A graceful shutdown first; a power-off when the guest cannot shut down (the shutdown errors) or does
    not within DROPLET_GRACEFUL_SHUTDOWN."""

    operation = states.STOP
    done_status = "off"

    def action_type_for(self, step):
        return "power_off" if step.params.get("forced") else "shutdown"

    def send(self, step):
        if step.params.get("forced"):
            return step.backend.power_off(step.droplet.backend_id)
        return step.backend.shutdown(step.droplet.backend_id)

    def on_errored(self, step, action):
        if step.params.get("forced"):
            return super().on_errored(step, action)
        return self.force(step)  # the guest could not shut itself down (no ACPI, say)

    def on_status_lag(self, step, current):
        overdue = timezone.now() > step.droplet.operation_started + settings.DROPLET_GRACEFUL_SHUTDOWN
        if not step.params.get("forced") and overdue:
            return self.force(step)  # the guest ignored the shutdown request
        return Poll()

    def force(self, step):
        step.update_params(forced=True)
        try:
            return self.send_and_follow(step)
        except RejectedError as error:
            # Refused: the droplet is off already and its status lags, or another action runs. Either way,
            # its status is watched until the deadline.
            logger.info(
                "Droplet %s: DigitalOcean refused the power off: %s", step.droplet.uuid.hex, error.message
            )
            step.enter(Phase.AWAITING, action_id="")
            return Poll()


class ResizeStrategy(ActionStrategy):
    operation = states.RESIZE
    action_type = "resize"
    done_status = "off"

    def send(self, step):
        return step.backend.resize(
            step.droplet.backend_id, size=step.params["size"], disk=step.params["disk"]
        )


class RenameStrategy(ActionStrategy):
    operation = states.RENAME
    action_type = "rename"

    def send(self, step):
        return step.backend.rename(step.droplet.backend_id, name=step.params["name"])

    def fields_on_failure(self, step):
        return {"name": step.params["old_name"]}  # DigitalOcean kept the old one


class CreateStrategy(ActionStrategy):
    """Creates the droplet tagged as ours, then follows its create action until it is `active`. An answer
    that never came (a timeout, a dropped connection, a killed worker) is never followed by a second create
    until a look by tag has had the time the first request could take to land: no twins."""

    operation = states.CREATE
    action_type = "create"
    done_status = "active"

    def adopt(self, step):
        existing = step.backend.find_droplet_by_tag(droplet_backend_tag(step.droplet))
        if existing is not None:
            step.enter(Phase.AWAITING, backend_id=existing.id, action_id="")
        return existing is not None

    def send_and_follow(self, step):
        if step.past_deadline:
            return self.refuse_to_send(step)
        self.enter_sending(step)
        params = step.params
        key = params.get("ssh_key")
        try:
            created = step.backend.create_droplet(
                name=step.droplet.name,
                region=params["region"],
                size=params["size"],
                image=params["image"],
                user_data=step.droplet.user_data,
                tag=droplet_backend_tag(step.droplet),
                ssh_key=SshKeySpec(**key) if key else None,
            )
        except TransientError as error:
            if not error.may_have_landed:
                step.enter(Phase.PENDING)
            raise
        # Saved at once: from here on the droplet exists on DigitalOcean and must never be lost track of.
        step.enter(Phase.AWAITING, backend_id=created.droplet_id, action_id=created.action_id)
        return Poll()


class DeleteStrategy(OperationStrategy):
    operation = states.DELETE

    def advance(self, step):
        droplet = step.droplet
        if not droplet.backend_id:
            return Done(None)
        try:
            if step.phase != Phase.AWAITING:
                try:
                    step.backend.destroy_droplet(droplet.backend_id)  # destroying twice is harmless
                except RejectedError:
                    if _busy(step):
                        return Poll()  # DigitalOcean refuses while an action runs: try again later
                    raise
                step.enter(Phase.AWAITING)
                return Poll()
            step.backend.get_droplet(droplet.backend_id)
        except NotFoundError:
            return Done(None)
        return Poll()  # still listed (DigitalOcean archives it for a while): look again later


class PullStrategy(OperationStrategy):
    operation = states.PULL

    def advance(self, step):
        try:
            return Done(step.backend.get_droplet(step.droplet.backend_id))
        except NotFoundError:
            return Failed("The droplet no longer exists on DigitalOcean.")


def _busy(step: Step, actions=None) -> bool:
    """Whether an action (ours or DigitalOcean's own) is running on the droplet, locking it."""
    actions = step.backend.recent_actions(step.droplet.backend_id) if actions is None else actions
    return any(action.in_progress for action in actions)


def _minutes(duration: timedelta) -> int:
    return int(duration.total_seconds() // 60)
