"""The sandbox's GraphQL API: GitHub's own schema, resolvers over the sandbox's state.

``schema`` builds GitHub's published schema once per process, ``engine`` runs a
request against it (GitHub's validation and error shapes), and one module per area
resolves fields from the same state the REST routes read and write, with the same
side effects: ``issues`` (viewer, issues, labels, edit history), ``repos`` (refs, git
objects, check suites and runs), ``orgs`` (teams and their members) and ``mutations``
(comments, labels, issue body and state). A field no resolver provides is an error
``the valet sandbox does not implement Type.field``, never a silent null.
"""
