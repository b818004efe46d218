from frontends.server import serve

serve()
