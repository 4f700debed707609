from django.contrib import admin

from .models import Central

admin.site.register(Central)
