"""Driving the admin's changelist actions with the test client, and reading the messages they leave."""

from django.contrib.admin import helpers


def run_action(client, url, action, objects):
    """Submits the changelist's action form for `objects`, as "Go" does, and follows the redirect."""
    data = {"action": action, helpers.ACTION_CHECKBOX_NAME: [obj.pk for obj in objects], "index": 0}
    return client.post(url, data, follow=True)


def confirm_action(client, url, action, objects):
    """Submits an action's confirmation page ("Yes, I'm sure")."""
    data = {"action": action, helpers.ACTION_CHECKBOX_NAME: [obj.pk for obj in objects], "post": "yes"}
    return client.post(url, data, follow=True)


def shown_messages(response) -> list[tuple[str, str]]:
    return [(message.level_tag, message.message) for message in response.context["messages"]]
