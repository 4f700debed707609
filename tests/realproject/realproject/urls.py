"""No pages: the corpus is for migration tools."""

urlpatterns: list = []
