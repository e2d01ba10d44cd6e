"""Fake HIPS autograd: ``make_vjp(fun, argnum)(*args)`` returns ``(vjp, ans)``; with a tuple
``argnum`` the vjp returns a tuple of gradients.  ``autograd.numpy`` is not faked: forwards
here call ``fake_tape`` ops on the values the fake passes them."""

from fake_tape import Node


def make_vjp(fun, argnum=0):
    def vjp_maker(*args):
        numbers = argnum if isinstance(argnum, tuple) else (argnum,)
        boxes = [Node(a) if i in numbers else a for i, a in enumerate(args)]
        ans = fun(*boxes)

        def vjp(g):
            for i in numbers:
                boxes[i].grad = None
            ans.backprop(g)
            grads = tuple(boxes[i].grad for i in numbers)
            return grads if isinstance(argnum, tuple) else grads[0]

        return vjp, ans.data

    return vjp_maker
