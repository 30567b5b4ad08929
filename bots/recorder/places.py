"""Who is in the mix: the original's rules, with no media in sight.

Up to `limit` places, given to participants in the order they enter; later people wait in
order and take a place when one is freed. When someone in a place leaves:
- reserve=True: the place stays theirs (the mixer shows their last frame and silence);
  it is never given to anyone else, and it comes back to life if the same participant
  returns;
- reserve=False: the place is removed, the others close up (the grid is re-laid out), and
  the first waiting participant, if any, is added at the end.
"""

from dataclasses import dataclass, field


@dataclass
class Place:
    pid: str
    present: bool = True


@dataclass
class Places:
    reserve: bool = True
    limit: int = 6
    places: list[Place] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)

    def enter(self, pid: str) -> bool:
        """`pid` is in the meeting; True when it now holds a place (False: waiting)."""
        place = self.place_of(pid)
        if place:
            place.present = True
            return True
        if pid in self.waiting:
            return False
        if len(self.places) < self.limit:
            self.places.append(Place(pid))
            return True
        self.waiting.append(pid)
        return False

    def leave(self, pid: str) -> list[str]:
        """`pid` left; returns the pids that took a place because of it."""
        if pid in self.waiting:
            self.waiting.remove(pid)
            return []
        place = self.place_of(pid)
        if place is None:
            return []
        if self.reserve:
            place.present = False
            return []
        self.places.remove(place)
        promoted = []
        while self.waiting and len(self.places) < self.limit:
            promoted.append(self.waiting.pop(0))
            self.places.append(Place(promoted[-1]))
        return promoted

    def place_of(self, pid: str) -> Place | None:
        return next((p for p in self.places if p.pid == pid), None)

    def order(self) -> list[str]:
        """The pids holding places, in grid order."""
        return [p.pid for p in self.places]
