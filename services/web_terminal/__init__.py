"""The web terminal: a browser shell on a device, through the device SSH proxy.

Twisted Web serves one page (xterm.js) and a WebSocket per terminal. A person signs in with the
token ``python -m services.registry add-token`` gave them, picks one of the devices granted to
them, and the web terminal opens an SSH session to the proxy as ``USER+UUID`` with a key of its
own that the registry lists as a delegate. So the proxy, and only the proxy, decides whether the
person may reach the device, pins its host key, signs with the shared agent and words every
failure; the web terminal adds no second way in to a device.
"""
