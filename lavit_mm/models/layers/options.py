"""Typed options: a backbone's flat config keywords, parsed once into frozen dataclasses.

An option set is a frozen dataclass whose fields are the keywords it takes, each with its
default and documented where it is declared. :meth:`OptionSet.parse` takes the keywords a user
gave and checks each as its field says (:func:`option`): a positive int, a bool, a number
>= 0; cross-option rules go in the set's :meth:`OptionSet.check`. A field declared with
``la=True`` configures Less-Attention layers: a backbone without LA layers refuses it.

The sets: each attention kind's (``KindOptions`` and its subclasses, ``kind.py``, ``sra.py``,
``window.py``), the DP loss's (:class:`DPLossOptions`, both backbone families) and the
backbone-level small-data remedies (``backbones/remedies.py``).
"""
import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Tuple, Union

from .dp_loss import DP_FORMS


def option(default: Any, check: Union[None, str, Tuple[str, ...]] = None, la: bool = False):
    """A field of an option set. ``check``: 'positive_int', 'non_negative' (a number >= 0),
    'bool', or a tuple of the allowed values (strings); None checks nothing here (the layer
    that uses it does). ``la``: the option configures Less-Attention layers."""
    return field(default=default, metadata=dict(check=check, la=la))


def check_range(owner: str, name: str, value, low, high=None, integer: bool = False) -> None:
    """Refuses ``value`` of option ``name`` outside [low, high) (or below ``low`` without
    ``high``), not finite, or not a number (an int with ``integer``; never a bool)."""
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        raise TypeError(f'{owner}: {name} must be {"an int" if integer else "a number"}, '
                        f'got {value!r}')
    if not math.isfinite(value):
        raise ValueError(f'{owner}: {name} must be a finite number, got {value}')
    if value < low or (high is not None and value >= high):
        bound = f'in [{low}, {high})' if high is not None else f'>= {low}'
        raise ValueError(f'{owner}: {name} must be {bound}, got {value}')


def check_value(owner: str, name: str, value,
                check: Union[None, str, Tuple[str, ...]]) -> None:
    """Refuses ``value`` of option ``name`` that fails ``check`` (see :func:`option`)."""
    if isinstance(check, tuple):
        if not isinstance(value, str) or value not in check:
            raise ValueError(f'{owner}: {name} must be one of {check}, got {value!r}')
    elif check == 'bool':
        if not isinstance(value, bool):
            raise TypeError(f'{owner}: {name} must be True or False, got {value!r}')
    elif check == 'positive_int':
        check_range(owner, name, value, 1, integer=True)
    elif check == 'non_negative':
        check_range(owner, name, value, 0)


@dataclass(frozen=True)
class OptionSet:
    """Base of the option sets; subclasses declare fields with :func:`option`."""

    @classmethod
    def names(cls) -> Tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def la_names(cls) -> Tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls) if f.metadata.get('la'))

    @classmethod
    def parse(cls, owner: str, given: Mapping[str, Any]) -> 'OptionSet':
        """The set with ``given`` (keywords of this set, None-free) over the defaults, each
        checked; ``owner`` names the backbone in the errors."""
        checks = {f.name: f.metadata.get('check') for f in dataclasses.fields(cls)}
        for name, value in given.items():
            check_value(owner, name, value, checks[name])
        options = cls(**given)
        options.check(owner, given)
        return options

    def check(self, owner: str, given: Mapping[str, Any]) -> None:
        """Rules between options; ``given``: what the user set (the rest are defaults)."""


@dataclass(frozen=True)
class DPLossOptions(OptionSet):
    """The Diagonality Preserving loss of Less-Attention layers (``dp_loss.py``).

    Attributes:
        dp_loss_weight: its weight (0 turns it off and skips its computation; default: the
            backbone class's, 1.0 for LaViT); reported as ``loss_dp`` by lavit_mm's task
            models.
        dp_form: which loss (docs/design.md, "DP loss"): 'ours' (symmetry and dominance with
            a margin, on the attention probabilities), 'paper' (the paper's printed formula
            on the transformed scores, divided by the number of entries) or
            'paper-corrected' (the printed symmetry term, the dominance term with the sign
            the text intends, hinged at the margin).
        dp_margin: the dominance margin m of 'ours' and 'paper-corrected': a diagonal entry
            should be at least (1 + m) times every other entry of its row ('ours'), or its
            score ln(1 + m) above the mean score of the row's other entries
            ('paper-corrected'). 0 lets uniform attention satisfy the loss.
    """
    dp_loss_weight: float = option(0., 'non_negative', la=True)
    dp_form: str = option('ours', DP_FORMS, la=True)
    dp_margin: float = option(1., 'non_negative', la=True)

    def check(self, owner, given):
        for name in ('dp_form', 'dp_margin'):
            if name in given and self.dp_loss_weight == 0:
                raise ValueError(f'{owner}: {name} configures the DP loss, which '
                                 f'dp_loss_weight=0 turns off: remove it, or give the loss a '
                                 f'weight')
        if 'dp_margin' in given and self.dp_form == 'paper':
            raise ValueError(f"{owner}: dp_margin is not part of dp_form='paper' (the printed "
                             f"formula has no margin): remove it, or use dp_form="
                             f"'paper-corrected' / 'ours'")
