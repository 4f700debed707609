import os

from django.forms import modelform_factory
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import dynamic


def status(request):
    """What this process has loaded: its pid, stamp version and response models."""
    return JsonResponse({
        "pid": os.getpid(),
        "version": dynamic.loaded_version(),
        "models": {
            m._meta.db_table: [f.name for f in m._meta.concrete_fields] for m in dynamic.cache.models()
        },
    })


@csrf_exempt  # a public survey form posts here without a session, like any anonymous form API
@require_POST
def submit(request, name):
    """Store one response (form-encoded fields) with this process's class of the survey's model."""
    model = dynamic.response_model(name)
    if model is None:
        raise Http404(f"No survey {name!r} in this process")
    # A ModelForm: every value checked by its field (a number, its range, a length limit)
    # and refused with the reason, as a 400; optional fields not sent keep their defaults.
    fields = [f.name for f in model._meta.concrete_fields
              if f.name != "id" and (f.name in request.POST or not f.blank)]
    form = modelform_factory(model, fields=fields)(request.POST)
    if not form.is_valid():
        return JsonResponse({"errors": form.errors}, status=400)
    row = form.save()
    return JsonResponse({"id": row.pk}, status=201)
