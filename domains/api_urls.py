from django.urls import path, re_path

from domains import api

urlpatterns = [
    path("domains/", api.DomainList.as_view(), name="api-domain-list"),
    path("domains/<slug:slug>/", api.DomainDetail.as_view(), name="api-domain-detail"),
    path("domains/<slug:slug>/members/", api.MemberList.as_view(), name="api-member-list"),
    # Usernames as Django's default validator allows them.
    re_path(
        r"^domains/(?P<slug>[-a-zA-Z0-9_]+)/members/(?P<username>[\w.@+-]+)/$",
        api.MemberDetail.as_view(),
        name="api-member-detail",
    ),
]
