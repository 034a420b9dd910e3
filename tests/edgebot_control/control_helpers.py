"""Small helpers shared by the edgebot_control node tests."""

import json

from edgebot_testing import wait_for


def twist(v=0.0, w=0.0):
    from geometry_msgs.msg import Twist

    t = Twist()
    t.linear.x, t.angular.z = float(v), float(w)
    return t


class Streamer:
    """Publishes a message at a fixed rate from the test node's executor until stopped."""

    def __init__(self, ros, pub, msg, period=0.05):
        self.msg = msg
        self._pub = pub
        self._timer = ros.node.create_timer(period, lambda: self._pub.publish(self.msg))
        self._ros = ros

    def stop(self):
        self._timer.cancel()
        self._ros.node.destroy_timer(self._timer)


# 30 s defaults: the first wait on a collected topic includes DDS discovery of the test's
# subscription, which takes well over 10 s on a loaded CI machine.
def wait_twist(got, pred, timeout=30.0, what="cmd_vel"):
    """Wait until the newest Twist in ``got`` satisfies pred(v, w)."""
    return wait_for(
        lambda: got and pred(got[-1].linear.x, got[-1].angular.z) and got[-1], timeout, what=what
    )


def wait_state(got, pred, timeout=30.0, what="state"):
    return wait_for(
        lambda: got and pred(json.loads(got[-1].data)) and json.loads(got[-1].data),
        timeout,
        what=what,
    )


def diag_values(diags, node_name, timeout=30.0):
    """The key/values of the newest status of ``node_name`` on /diagnostics."""

    def find():
        for arr in reversed(diags):
            for st in arr.status:
                if st.name.startswith(node_name + ":"):
                    return {kv.key: kv.value for kv in st.values} | {"_message": st.message}
        return None

    return wait_for(find, timeout, what=f"diagnostics of {node_name}")
