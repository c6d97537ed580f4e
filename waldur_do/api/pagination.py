"""Waldur's list format: a bare JSON array, with the total and the page links in headers.

The generated Waldur clients parse list bodies as arrays; DRF's `{"count", "results"}` object breaks them.
"""

from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from .authentication import QueryTokenAuthentication


class LinkHeaderPagination(PageNumberPagination):
    page_size = 10
    page_size_query_param = "page_size"
    max_page_size = 300

    def get_paginated_response(self, data):
        headers = {"X-Result-Count": str(self.page.paginator.count)}
        link = self._link_header()
        if link:
            headers["Link"] = link
        return Response(data, headers=headers)

    def _link_header(self):
        page = self.page
        # A token sent as ?x-auth-token= must not be echoed back in the links (proxies and logs keep headers).
        url = remove_query_param(self.request.build_absolute_uri(), QueryTokenAuthentication.query_param)
        last = page.paginator.num_pages
        links = []
        if page.has_previous():
            links.append((remove_query_param(url, self.page_query_param), "first"))
            links.append((self._page_url(url, page.previous_page_number()), "prev"))
        if page.has_next():
            links.append((self._page_url(url, page.next_page_number()), "next"))
            links.append((self._page_url(url, last), "last"))
        return ", ".join(f'<{href}>; rel="{rel}"' for href, rel in links)

    def _page_url(self, url, number):
        if number == 1:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, number)

    def get_paginated_response_schema(self, schema):
        return schema
