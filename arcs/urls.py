app_name = "arcs"
urlpatterns: list = []
