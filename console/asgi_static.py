"""console.asgi's application, with static files served by Django itself.

Django's staticfiles handler finds each file in the source folders (as `runserver` does), so
`manage.py up` needs no collectstatic step and an edited stylesheet shows on reload. The
Docker image runs this too, so a single host needs nothing in front; a deployment with a proxy
or CDN serves /static/ from the collectstatic output there and runs console.asgi directly.
"""

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

from console.asgi import body_limited, routes

# The body limit outermost here too: Django's static handler reads a body (a POST to /static/)
# before it answers.
application = body_limited(ASGIStaticFilesHandler(routes))
