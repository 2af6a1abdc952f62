from collections.abc import AsyncGenerator

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel

from synchronaut import synchronaut


# ——— Dummy DB & models ———
class User(BaseModel):
    id: int
    name: str


class DummyDB:
    def __init__(self):
        self._data = {
            1: {"id": 1, "name": "Alice"},
            2: {"id": 2, "name": "Bob"},
        }

    def query(self, user_id: int):
        return self._data.get(user_id)


async def get_db_async() -> AsyncGenerator[DummyDB, None]:
    db = DummyDB()
    try:
        yield db
    finally:
        ...


# ——— App & routes ———
app = FastAPI()


@synchronaut()
def get_user(user_id: int, db: DummyDB = Depends(get_db_async)) -> User:
    data = db.query(user_id)
    if not data:
        raise HTTPException(status_code=404, detail="User not found")
    return User(**data)


@app.get("/")
async def hello():
    return {"Hello, @syncronauts!"}


@app.get("/users/{user_id}", response_model=User)
async def read_user(user: User = Depends(get_user)):
    return user
