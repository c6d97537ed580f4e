from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from waldur_do.api.viewsets import ModelViewSet, ReadOnlyModelViewSet
from waldur_do.structure import selectors as structure_selectors

from .. import selectors, services, states
from . import filters, read
from .serializers import (
    DigitalOceanDropletResizeSerializer,
    DigitalOceanDropletSerializer,
    DigitalOceanDropletUpdateSerializer,
    DigitalOceanImageSerializer,
    DigitalOceanRegionSerializer,
    DigitalOceanSizeSerializer,
    SetErredSerializer,
)

STAFF_ACTIONS = ("unlink", "set_erred", "set_ok")


def _status_body(name):
    return inline_serializer(name, {"status": serializers.CharField()})


DETAIL = inline_serializer("Detail", {"detail": serializers.CharField()})
CONFLICT = OpenApiResponse(DETAIL, description="The droplet's state forbids the operation.")


@extend_schema_view(
    create=extend_schema(responses={201: DigitalOceanDropletSerializer}),
    update=extend_schema(
        request=DigitalOceanDropletUpdateSerializer,
        responses={200: DigitalOceanDropletSerializer, 409: CONFLICT},
    ),
    partial_update=extend_schema(
        request=DigitalOceanDropletUpdateSerializer,
        responses={200: DigitalOceanDropletSerializer, 409: CONFLICT},
    ),
    destroy=extend_schema(responses={204: None, 409: CONFLICT}),
)
class DigitalOceanDropletViewSet(ModelViewSet):
    """Droplets. Anyone with a role in the droplet's project or customer sees it; staff, the customer's owners
    and the project's admins and managers create and change it. Changes are carried out on DigitalOcean in
    the background: an accepted request moves `state` at once, and the droplet returns to `OK` (or `ERRED`,
    with `error_message`) when DigitalOcean has finished. A name change is applied on DigitalOcean too."""

    serializer_class = DigitalOceanDropletSerializer
    list_rows = read.DROPLETS
    filterset_class = filters.DropletFilter

    def get_visible_queryset(self, user):
        return selectors.droplet_list(user=user)

    def can_create(self, user):
        # Someone who manages no project at all gets their 403 before the body is read (the order of checks
        # in docs/api.md); whether they manage the project the body names is the create service's check.
        return structure_selectors.managed_project_list(user=user).exists()

    def can_manage(self, user, droplet):
        if self.action in STAFF_ACTIONS:
            return user.is_staff
        return structure_selectors.can_manage_project(user=user, project=droplet.project)

    def perform_create(self, serializer):
        serializer.instance = services.droplet_create(user=self.request.user, **serializer.validated_data)

    def update(self, request, *args, **kwargs):
        droplet = self.get_object()
        services.droplet_check_allowed(droplet=droplet, operation=states.RENAME)
        update = DigitalOceanDropletUpdateSerializer(data=request.data, partial=kwargs.get("partial", False))
        update.is_valid(raise_exception=True)
        services.droplet_update(droplet=droplet, actor=request.user, **update.validated_data)
        return Response(self.get_serializer(droplet).data)

    def perform_destroy(self, droplet):
        services.droplet_delete(droplet=droplet, actor=self.request.user)

    def _schedule(self, operation, service):
        service(droplet=self.get_object(), actor=self.request.user)
        return Response({"status": f"{operation.name} was scheduled"}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: _status_body("StartStatus"), 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def start(self, request, uuid=None):
        """Power the droplet on. Needs state `OK` and runtime state `offline`."""
        return self._schedule(states.START, services.droplet_start)

    @extend_schema(request=None, responses={202: _status_body("StopStatus"), 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def stop(self, request, uuid=None):
        """Shut the droplet down, gracefully first, then by power-off if the guest does not stop in time.
        Needs state `OK` and runtime state `online`."""
        return self._schedule(states.STOP, services.droplet_stop)

    @extend_schema(request=None, responses={202: _status_body("RestartStatus"), 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def restart(self, request, uuid=None):
        """Reboot the droplet. Needs state `OK` and runtime state `online`."""
        return self._schedule(states.RESTART, services.droplet_restart)

    @extend_schema(
        request=DigitalOceanDropletResizeSerializer,
        responses={
            202: inline_serializer(
                "ResizeStatus", {"status": serializers.CharField(), "disk": serializers.BooleanField()}
            ),
            409: CONFLICT,
        },
    )
    @action(detail=True, methods=["post"])
    def resize(self, request, uuid=None):
        """Give the droplet another size. With `disk: true` the disk grows too, for good; with `disk: false`
        only CPU and RAM change, and the resize can be undone. Needs state `OK` and runtime state `offline`;
        `cores`, `ram` and `disk` change once DigitalOcean has finished."""
        droplet = self.get_object()
        services.droplet_check_allowed(droplet=droplet, operation=states.RESIZE)
        resize = DigitalOceanDropletResizeSerializer(data=request.data, context=self.get_serializer_context())
        resize.is_valid(raise_exception=True)
        disk = resize.validated_data["disk"]
        services.droplet_resize(
            droplet=droplet, size=resize.validated_data["size"], disk=disk, actor=request.user
        )
        return Response({"status": "resize was scheduled", "disk": disk}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: DETAIL, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def pull(self, request, uuid=None):
        """Refresh the droplet from DigitalOcean; an `ERRED` droplet that DigitalOcean shows healthy becomes
        `OK` again. Needs state `OK` or `ERRED` and a `backend_id`."""
        services.droplet_pull(droplet=self.get_object(), actor=request.user)
        return Response(
            {"detail": "Pull operation was successfully scheduled."}, status=status.HTTP_202_ACCEPTED
        )

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["post"])
    def unlink(self, request, uuid=None):
        """Forget the droplet without touching it on DigitalOcean. Staff only."""
        services.droplet_unlink(droplet=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=SetErredSerializer, responses={200: DETAIL})
    @action(detail=True, methods=["post"])
    def set_erred(self, request, uuid=None):
        """Mark the droplet `ERRED` with the given message, for manual recovery. Staff only."""
        droplet = self.get_object()
        body = SetErredSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.droplet_set_erred(
            droplet=droplet,
            message=body.validated_data["error_message"],
            traceback=body.validated_data["error_traceback"],
            actor=request.user,
        )
        return Response({"detail": "Resource has been marked as erred."})

    @extend_schema(request=None, responses={200: DETAIL})
    @action(detail=True, methods=["post"])
    def set_ok(self, request, uuid=None):
        """Mark the droplet `OK`, for manual recovery. Staff only."""
        services.droplet_set_ok(droplet=self.get_object(), actor=request.user)
        return Response({"detail": "Resource has been marked as OK."})


class DigitalOceanRegionViewSet(ReadOnlyModelViewSet):
    """Regions of each service settings' catalog, seen by whoever may use those settings."""

    serializer_class = DigitalOceanRegionSerializer
    list_rows = read.REGIONS
    filterset_class = filters.RegionFilter

    def get_visible_queryset(self, user):
        return selectors.region_list(user=user)


class DigitalOceanImageViewSet(ReadOnlyModelViewSet):
    """Images of each service settings' catalog, seen by whoever may use those settings."""

    serializer_class = DigitalOceanImageSerializer
    list_rows = read.IMAGES
    filterset_class = filters.ImageFilter

    def get_visible_queryset(self, user):
        return selectors.image_list(user=user)


class DigitalOceanSizeViewSet(ReadOnlyModelViewSet):
    """Sizes of each service settings' catalog, seen by whoever may use those settings."""

    serializer_class = DigitalOceanSizeSerializer
    list_rows = read.SIZES
    filterset_class = filters.SizeFilter

    def get_visible_queryset(self, user):
        return selectors.size_list(user=user)
