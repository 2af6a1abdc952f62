from synchronaut.utils import (
    get_request_ctx,
    request_context,
    set_request_ctx,
    spawn_thread_with_ctx,
)

# set a global context
set_request_ctx({"user_id": 42})
print("Global, user_id:", get_request_ctx()["user_id"])  # 42

# override in a block
with request_context({"user_id": 99}):
    print("Inside block, user_id:", get_request_ctx()["user_id"])  # 99

# back to global
print("Global again, user_id:", get_request_ctx()["user_id"])  # 42


# worker in a thread sees the global context
def work():
    print("Inside thread, user_id:", get_request_ctx()["user_id"])  # 42


thread = spawn_thread_with_ctx(work)
thread.join()
