"""Several people and several meetings at once: everyone hears their own meeting only."""

from .stack_client import Rest, joined, left, ticket


def test_three_participants_hear_each_join_and_only_their_own_tickets(stack):
    rest = Rest(stack.api)
    mid = rest.create("Trio")["meeting"]["id"]
    ada = rest.join(mid, "Ada")
    with ada.connect() as ada_ws:
        bob = rest.join(mid, "Bob")
        ada_ws.wait_for(joined(bob.pid))
        with bob.connect() as bob_ws:
            cy = rest.join(mid, "Cy")
            ada_ws.wait_for(joined(cy.pid))
            bob_ws.wait_for(joined(cy.pid))
            with cy.connect() as cy_ws:
                to_bob = ada.send_ticket(bob)
                to_cy = ada.send_ticket(cy)
                from_cy = cy.send_ticket(bob)

                bob_ws.wait_for(ticket(from_cy["id"]))
                cy_ws.wait_for(ticket(to_cy["id"]))
                assert {e["ticket"]["id"] for e in bob_ws.of("ticket")} == {to_bob["id"],
                                                                            from_cy["id"]}
                assert all(e["ticket"]["to"] == bob.pid for e in bob_ws.of("ticket"))
                assert [e["ticket"]["id"] for e in cy_ws.of("ticket")] == [to_cy["id"]]

                cy.leave()
                assert ada_ws.wait_for(left(cy.pid))["reason"] == "left"
                assert bob_ws.wait_for(left(cy.pid))["reason"] == "left"
                assert ada_ws.of("ticket") == []


def test_two_meetings_side_by_side_do_not_hear_each_other(stack):
    rest = Rest(stack.api)
    rooms = []
    for name in ("North", "South"):
        mid = rest.create(name)["meeting"]["id"]
        host, guest = rest.join(mid, "Host"), rest.join(mid, "Guest")
        rooms.append({"people": [host, guest], "sockets": [host.connect(), guest.connect()]})
    try:
        for room in rooms:
            (host, guest), (host_ws, _) = room["people"], room["sockets"]
            host.send_ticket(guest)
            guest.update(hand=True)
            late = rest.join(host.mid, "Late")
            room["people"].append(late)
            host_ws.wait_for(joined(late.pid))
        # A last ticket to each socket: the stack delivers in write order, so anything
        # leaked from the other meeting would have arrived before it.
        for room in rooms:
            (host, guest, _), (host_ws, guest_ws) = room["people"], room["sockets"]
            host_ws.wait_for(ticket(guest.send_ticket(host)["id"]))
            guest_ws.wait_for(ticket(host.send_ticket(guest)["id"]))

        for room in rooms:
            own = {p.pid for p in room["people"]}
            for ws in room["sockets"]:
                assert ws.events
                for e in ws.events:
                    about = e["ticket"]["from"] if "ticket" in e else e["participant"]["id"]
                    assert about in own, e
    finally:
        for room in rooms:
            for ws in room["sockets"]:
                ws.close()
