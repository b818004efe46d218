"""The reference web frontends (board, kiosk, my place, agent console, supervisor wall)."""
