"""A staff member's own saved views of the case list: a name and the filters' query string.
Per staff member, never shared; every save and delete is audited. The caller passes the filter
names the list understands (`allowed`); anything else in the query is dropped."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.errors import StorageError
from storage.models import SavedView

MAX_VIEWS = 20


class SavedViewError(StorageError):
    pass


def clean_query(query: str, allowed: tuple[str, ...]) -> str:
    """The query string with only the allowed, non-empty filters, in a stable order."""
    pairs = [(k, v[:200]) for k, v in parse_qsl(query.lstrip("?"), keep_blank_values=False) if k in allowed]
    return urlencode(sorted(dict(pairs).items()))


async def views_of(session: AsyncSession, staff_id: int) -> list[SavedView]:
    q = select(SavedView).where(SavedView.staff_id == staff_id).order_by(SavedView.name, SavedView.id)
    return list((await session.execute(q)).scalars())


async def save_view(session: AsyncSession, staff_id: int, name: str, query: str, *,
                    allowed: tuple[str, ...]) -> SavedView:
    """Save (or, under the same name, replace) a view of the caller's."""
    name = " ".join(name.split())[:60]
    if not name:
        raise SavedViewError("视图要有名字 / the view needs a name")
    query = clean_query(query, allowed)
    mine = await views_of(session, staff_id)
    view = next((v for v in mine if v.name == name), None)
    if view is None:
        if len(mine) >= MAX_VIEWS:
            raise SavedViewError(f"最多保存 {MAX_VIEWS} 个视图 / at most {MAX_VIEWS} saved views")
        view = SavedView(staff_id=staff_id, name=name, query=query)
        session.add(view)
    view.query = query
    await session.flush()
    await audit.record(session, f"staff:{staff_id}", "case.view.save", f"view:{view.id}", {"query": query})
    return view


async def delete_view(session: AsyncSession, staff_id: int, view_id: int) -> bool:
    """Delete one of the caller's views; another staff member's is left alone (False)."""
    view = await session.get(SavedView, view_id)
    if view is None or view.staff_id != staff_id:
        return False
    await session.delete(view)
    await audit.record(session, f"staff:{staff_id}", "case.view.delete", f"view:{view_id}")
    return True
