"""Keep Django's admin right about runtime dynamic models, in every process.

Django caches what the admin shows: ``admin.site._registry`` maps model
*classes* to their ``ModelAdmin``, and the URL patterns built from it are
cached after the first request. When a dynamic model is rebuilt (see
``helpers.dynamic.dynamic_models``), the admin keeps the old class: old columns, a
404 for a new model, or a crash when a column is gone. This module:

* :func:`unregister_by_table`: takes the stale class out of the admin by
  matching ``db_table`` (``site.unregister(new_class)`` raises
  ``NotRegistered``: the admin knows only the old class);
* :func:`reload_urlconf`: re-imports the root URLconf (so ``admin.site.urls``
  is rebuilt from the registry) and clears Django's URL caches;
* :func:`refresh_admin`: both, plus registration of the new classes and their
  content types and permissions (what staff users are granted);
* :class:`SchemaFreshnessMiddleware`: the multi-process fix. A version stamp
  in the shared database is compared on each request (or every N seconds);
  a stale process rebuilds its models, admin and URLs before serving;
* :class:`SchemaHookView` and :func:`hook_token`: the "rudimentary hook URL":
  a POST that makes the process receiving it refresh (staff session with
  CSRF, or a signed single-use token, signed with a secret of the running
  project);
* :func:`changelist_columns`: the column names of a rendered changelist page
  (for tests and notebooks).

Only Django is imported: copy this file into a project.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Sequence

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.exceptions import NotRegistered
from django.core import signing
from django.db import DEFAULT_DB_ALIAS, models, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.urls import clear_url_caches
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

__all__ = [
    "SchemaFreshnessMiddleware",
    "SchemaHookView",
    "changelist_columns",
    "ensure_permissions",
    "hook_token",
    "refresh_admin",
    "reload_urlconf",
    "remove_permissions",
    "rename_permissions",
    "unregister_by_table",
]

HOOK_SALT = "helpers.dynamic.dynamic_admin.hook"
HOOK_HEADER = "X-Schema-Hook-Token"


def unregister_by_table(site: admin.AdminSite, db_table: str) -> list[type[models.Model]]:
    """Remove from ``site`` every registered model whose table is ``db_table``; return them.

    Private API: ``AdminSite._registry`` (a dict keyed by model class). We
    iterate over a *copy* of its keys: deleting while iterating over the dict
    itself raises ``RuntimeError: dictionary changed size during iteration``
    on Python 3 (the source's loop was written for Python 2, where ``keys()``
    returned a list).
    """
    removed = []
    for registered in list(site._registry):
        if registered._meta.db_table == db_table:
            del site._registry[registered]
            removed.append(registered)
    return removed


def reload_urlconf(urlconf: str | None = None) -> None:
    """Re-import the root URLconf and clear Django's URL caches.

    ``admin.site.urls`` is evaluated when the URLconf module is imported, so
    a re-import rebuilds the admin's patterns from its current registry;
    ``clear_url_caches`` empties the resolver caches. What changed since the
    source: ``django.utils.importlib`` and the builtin ``reload`` are gone
    (``importlib.import_module`` / ``importlib.reload``), and
    ``clear_url_caches`` moved from ``django.core.urlresolvers`` to
    ``django.urls``.
    """
    name = urlconf or settings.ROOT_URLCONF
    importlib.reload(importlib.import_module(name))
    clear_url_caches()


def ensure_permissions(model_classes: Iterable[type[models.Model]], using: str = DEFAULT_DB_ALIAS) -> None:
    """Create the content type and default permissions of each model (if missing).

    ``migrate`` does this for ordinary models; dynamic ones appear later.
    Without them a staff user cannot be granted "view response" and the
    admin hides the model from everyone but superusers.
    """
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    for model in model_classes:
        ctype = ContentType.objects.db_manager(using).get_for_model(model)
        for action in model._meta.default_permissions:
            Permission.objects.db_manager(using).get_or_create(
                content_type=ctype,
                codename=f"{action}_{model._meta.model_name}",
                defaults={"name": f"Can {action} {model._meta.verbose_name_raw}"},
            )


def remove_permissions(app_label: str, model_name: str, using: str = DEFAULT_DB_ALIAS) -> None:
    """Delete the content type (and so the permissions) of a model that no longer exists."""
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.db_manager(using).filter(app_label=app_label, model=model_name.lower()).delete()
    ContentType.objects.clear_cache()


def rename_permissions(app_label: str, old_model: str, new_model: str, using: str = DEFAULT_DB_ALIAS) -> None:
    """Follow a model's rename in its content type and permission codenames (what staff hold).

    Django's ``RenameModel`` migration does the same for ordinary models.
    """
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    old_model, new_model = old_model.lower(), new_model.lower()
    ctype = ContentType.objects.db_manager(using).filter(app_label=app_label, model=old_model).first()
    if ctype is None:
        return
    ctype.model = new_model
    ctype.save(update_fields=["model"])
    for perm in Permission.objects.db_manager(using).filter(content_type=ctype):
        action = perm.codename.rsplit("_" + old_model, 1)[0]
        perm.codename = f"{action}_{new_model}"
        perm.save(update_fields=["codename"])
    ContentType.objects.clear_cache()


def refresh_admin(
    site: admin.AdminSite,
    model_classes: Sequence[type[models.Model]],
    *,
    admin_class: Callable[[type[models.Model]], type[admin.ModelAdmin]] | None = None,
    removed_tables: Iterable[str] = (),
    urlconf: str | None = None,
    permissions: bool = True,
) -> None:
    """Register the current classes of dynamic models with ``site`` and rebuild its URLs.

    Each class replaces whatever is registered for its table; each table of
    ``removed_tables`` is unregistered; then the URLconf is reloaded.
    ``admin_class(model)`` returns the ``ModelAdmin`` to use (default:
    ``ModelAdmin`` listing every field).
    """
    for table in removed_tables:
        unregister_by_table(site, table)
    for model in model_classes:
        unregister_by_table(site, model._meta.db_table)
        # The regular way as well, as the source suggests: harmless, and it would catch
        # a class registered under another table name.
        with contextlib.suppress(NotRegistered):
            site.unregister(model)
        site.register(model, admin_class(model) if admin_class else _default_admin(model))
    if permissions and model_classes:
        ensure_permissions(model_classes)
    reload_urlconf(urlconf)


def _default_admin(model: type[models.Model]) -> type[admin.ModelAdmin]:
    names = [f.name for f in model._meta.concrete_fields]
    return type(f"{model.__name__}Admin", (admin.ModelAdmin,), {"list_display": names})


_COLUMN = re.compile(r'<th scope="col"\s*class="[^"]*\bcolumn-([\w-]+)')


def changelist_columns(html: str | bytes) -> list[str]:
    """The field names of the columns of an admin changelist page (checkbox column excluded)."""
    text = html.decode() if isinstance(html, bytes) else html
    return [c for c in _COLUMN.findall(text) if c != "action-checkbox"]


# --- every process ---------------------------------------------------------------------


class SchemaFreshnessMiddleware:
    """Rebuild this process's dynamic models, admin and URLs when another process changed them.

    Subclass it and implement :meth:`current_version` (read the version
    stamp from the shared database: one cheap query), :meth:`loaded_version`
    (the version this process last built) and :meth:`rebuild`. Then add the
    subclass to ``MIDDLEWARE`` (after the session and auth middleware is
    fine: it only needs the database).

    ``DYNAMIC_SCHEMA_CHECK_INTERVAL`` (seconds, default 0) skips the check
    for that long after one: 0 checks on every request. With 0 and
    ``DYNAMIC_SCHEMA_LOCK`` (default True), no request fails because of a
    concurrent schema change: an unsafe request (POST, ...) runs in a
    transaction that holds the stamp (``current_version(lock=True)``), so
    that a change committed while it is served cannot pull a column from
    under it; a safe request (GET, HEAD, OPTIONS) is served without a
    transaction and, if it fails while the stamp moved, again after a
    rebuild (:meth:`serve_optimistically`). Without the lock, a change
    committed between the check and the request's queries can still fail
    that one request; with an interval, a process may serve with its old
    classes for up to that long after a change.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.interval = float(getattr(settings, "DYNAMIC_SCHEMA_CHECK_INTERVAL", 0))
        self.lock = bool(getattr(settings, "DYNAMIC_SCHEMA_LOCK", True))
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    # To implement:

    def current_version(self, *, lock: bool = False) -> int:
        """The version stamp in the database (with ``lock``: held until the transaction ends)."""
        raise NotImplementedError

    def loaded_version(self) -> int | None:
        """The version this process's models were built from (None: not built yet)."""
        raise NotImplementedError

    def rebuild(self) -> None:
        """Rebuild models, admin and URLs from the database (records the loaded version)."""
        raise NotImplementedError

    def uses_lock(self, request: HttpRequest) -> bool:
        """Whether ``request`` runs in the stamp-holding transaction (default: yes)."""
        return True

    # The check:

    def ensure_fresh(self, *, lock: bool = False) -> bool:
        """Rebuild if the stamp moved; return True if a rebuild happened."""
        version = self.current_version(lock=lock)
        if version == self.loaded_version():
            return False
        with self._lock:
            if self.current_version() != self.loaded_version():
                self.rebuild()
                return True
        return False

    def serve_optimistically(self, request: HttpRequest, attempts: int = 3) -> HttpResponse:
        """Serve a safe request (GET, HEAD, OPTIONS) without holding the stamp.

        A schema change committed between the check and the view's queries
        makes the view fail; the stamp has then moved, so the process rebuilds
        and serves the request again (a safe method has no side effects to
        repeat), up to ``attempts`` times while changes keep coming. Costs one
        query per request when nothing changes, no transaction.

        After a failure the stamp is read with ``lock=True``, which waits for a
        change in progress (it holds the stamp) to commit. On MySQL that matters:
        a change's DDL commits at once, before its stamp does, so a plain read
        could still see the old stamp and take the failure for a real one.
        """
        for _ in range(attempts):
            seen = self.current_version()
            if seen != self.loaded_version():
                with self._lock:
                    if self.current_version() != self.loaded_version():
                        self.rebuild()
            response = self.get_response(request)
            if response.status_code < 500 or self.current_version(lock=True) == seen:
                return response
        return response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Check (and maybe rebuild), then serve the request."""
        now = time.monotonic()
        if self.interval and now - self._checked_at < self.interval:
            return self.get_response(request)
        self._checked_at = now
        if self.interval or not self.lock or not self.uses_lock(request):
            self.ensure_fresh()
            return self.get_response(request)
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return self.serve_optimistically(request)
        with transaction.atomic():
            self.ensure_fresh(lock=True)
            response = self.get_response(request)
            if response.status_code >= 500:
                transaction.set_rollback(True)
            return response


def hook_token(key: str | None = None) -> str:
    """A signed, single-use token for :class:`SchemaHookView` (valid ``max_age`` seconds).

    ``key`` is the secret it is signed with: pass a secret of the *running*
    project (e.g. one stored in its database), the same one the view checks
    with. Without it, ``SECRET_KEY`` is used: fine only when that key is
    private to the deployment (never a key committed to a public repository).
    Each token carries a random nonce, so that the view can refuse a replay.
    """
    payload = {"purpose": "schema-hook", "nonce": secrets.token_urlsafe(18)}
    return signing.dumps(payload, key=key, salt=HOOK_SALT)


class _LocalNonces:
    """Nonces seen by this process (the default: enough for one process only)."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.lock = threading.Lock()

    def __call__(self, nonce: str) -> bool:
        with self.lock:
            if nonce in self.seen:
                return False
            self.seen.add(nonce)
            return True


@method_decorator(csrf_exempt, name="dispatch")
class SchemaHookView(View):
    """The "rudimentary hook URL": a POST makes *this process* rebuild its dynamic models.

    Authorised by a signed token in the ``X-Schema-Hook-Token`` header (for
    scripts and other processes), or by a staff user's session, in which case
    the CSRF token is checked as for any form (``csrf_exempt`` only lets the
    token path through; the session path runs Django's CSRF check itself).
    Configure with ``SchemaHookView.as_view(rebuild=..., loaded_version=...)``.

    Why it is not enough: with several worker processes behind one socket,
    the POST reaches *one* of them; the others stay stale.
    """

    http_method_names = ["post"]
    rebuild: Callable[[], None] | None = None
    loaded_version: Callable[[], int | None] | None = None
    #: The secret tokens are signed with (a callable, read per request; None: SECRET_KEY).
    key: Callable[[], str] | None = None
    #: ``redeem(nonce)`` records a token's nonce and returns False if it was seen before;
    #: share it between processes (a table with a unique nonce). None: this process only.
    redeem: Callable[[str], bool] | None = None
    max_age = 300
    _local_nonces = _LocalNonces()

    def post(self, request: HttpRequest) -> HttpResponse:
        """Check the caller, rebuild, and say which process did it."""
        token = request.headers.get(HOOK_HEADER)
        if token is not None:
            key = self.key() if self.key else None
            try:
                data = signing.loads(token, key=key, salt=HOOK_SALT, max_age=self.max_age)
            except signing.BadSignature:
                return JsonResponse({"error": "bad or expired token"}, status=403)
            except ValueError:  # signed, but not JSON Django wrote (e.g. bad compression)
                return JsonResponse({"error": "bad token"}, status=403)
            # Signed is not enough: a list, a string or another purpose is refused too.
            if not isinstance(data, dict) or data.get("purpose") != "schema-hook":
                return JsonResponse({"error": "bad token"}, status=403)
            nonce = data.get("nonce")
            if not isinstance(nonce, str) or not nonce:
                return JsonResponse({"error": "bad token"}, status=403)
            if not (self.redeem or self._local_nonces)(nonce):
                return JsonResponse({"error": "token already used"}, status=403)
        else:
            view = lambda r: HttpResponse()  # noqa: E731  # CsrfViewMiddleware needs a view, never called here
            reason = CsrfViewMiddleware(view).process_view(request, view, (), {})
            if reason is not None:
                return reason
            user = getattr(request, "user", None)
            if not (user and user.is_active and user.is_staff):
                return JsonResponse({"error": "staff only"}, status=403)
        if self.rebuild is None:
            raise NotImplementedError("SchemaHookView.as_view(rebuild=...) is required")
        self.rebuild()
        version = self.loaded_version() if self.loaded_version else None
        return JsonResponse({"refreshed": True, "version": version})
