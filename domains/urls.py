from django.urls import path

from domains import views

urlpatterns = [
    path("domains/", views.domain_list, name="domain-list"),
    # Before the domain page, so that "new" is never read as a domain's slug.
    path("domains/new/", views.domain_create, name="domain-create"),
    path("domains/<slug:slug>/", views.domain_detail, name="domain-detail"),
    path("domains/<slug:slug>/members/", views.member_add, name="member-add"),
    path("domains/<slug:slug>/members/<int:pk>/role/", views.member_role, name="member-role"),
    path("domains/<slug:slug>/members/<int:pk>/remove/", views.member_remove, name="member-remove"),
]
