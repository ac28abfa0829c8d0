"""The warm renderer behind `mip-cmp generate`: a thin client (client.py) and the server it talks to."""
