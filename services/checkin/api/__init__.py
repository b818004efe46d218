"""Check-in's HTTP API: one router per resource."""

from services.checkin.api import agents, appointments, board, contacts, live, sites, tickets

routers = [
    tickets.router,
    agents.router,
    sites.router,
    board.router,
    appointments.router,
    contacts.router,
    live.router,
]
