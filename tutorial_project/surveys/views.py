import os

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
    fields = {f.name for f in model._meta.concrete_fields} - {"id"}
    row = model.objects.create(**{k: v for k, v in request.POST.items() if k in fields})
    return JsonResponse({"id": row.pk}, status=201)
