"""Typed options: a backbone's grouped config keywords, parsed once into frozen dataclasses.

A backbone takes its options grouped by concern, the OpenMMLab way::

    attention=dict(type='sra', cross_stage_rank=8),       # the attention kind and its options
    less_attention=dict(transform='dense', map_size=224,  # how LA layers transform attention
                        dp_loss=dict(weight=1.0)),        # ... and the DP loss on them
    remedies=dict(lsa=True, drloc_weight=0.1),            # small-data remedies

An option set is a frozen dataclass whose fields are options, each with its default, its check
and its group written once where it is declared (:func:`option`). A field's key in its group is
its name, less the ``la_`` prefix of Less-Attention fields (``la_kernel_size`` is
``less_attention=dict(kernel_size=...)``), so code reads ``options.la_kernel_size`` and a user
writes the group's short key. :func:`read_groups` maps the user's group dicts onto the sets
that take them and refuses an unknown key naming the keys its group takes; :meth:`OptionSet.parse`
checks each value as its field says; cross-option rules go in the set's :meth:`OptionSet.check`.

The sets: each attention kind's (``KindOptions`` and its subclasses in the kind's file), the
DP loss's (:class:`DPLossOptions`, ``less_attention.dp_loss``) and the backbone-level remedies
(``backbones/remedies.py``).
"""
import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Dict, Mapping, Optional, Sequence, Tuple, Type, Union

from .dp_loss import DP_FORMS


ATTENTION, LESS_ATTENTION, REMEDIES = 'attention', 'less_attention', 'remedies'
DP_LOSS = 'less_attention.dp_loss'
LA_PREFIX = 'la_'


def option(default: Any, check: Union[None, str, Tuple[str, ...]] = None,
           group: str = ATTENTION):
    """A field of an option set. ``check``: 'positive_int', 'odd_positive_int',
    'non_negative' (a number >= 0), 'bool', or a tuple of the allowed values (strings); None
    checks nothing here (the set's :meth:`OptionSet.check` does). ``group``: the backbone
    keyword it is given in: 'attention', 'less_attention' (the field is named ``la_<key>``),
    'remedies', or a nested group such as 'less_attention.dp_loss'."""
    return field(default=default, metadata=dict(check=check, group=group))


def _group_of(f) -> str:
    return f.metadata.get('group', ATTENTION)


def _key_of(f) -> str:
    """A field's key in its group: its name, less ``la_`` for Less-Attention fields."""
    name = f.name
    if _group_of(f) == LESS_ATTENTION and name.startswith(LA_PREFIX):
        return name[len(LA_PREFIX):]
    return name


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
    elif check in ('positive_int', 'odd_positive_int'):
        check_range(owner, name, value, 1, integer=True)
        if check == 'odd_positive_int' and value % 2 != 1:
            raise ValueError(f'{owner}: {name} must be odd (a centred kernel), got {value}')
    elif check == 'non_negative':
        check_range(owner, name, value, 0)


def grouped(path: str, key: str, value: str = '...') -> str:
    """How key ``key`` of group ``path`` is written in a config:
    ``grouped('less_attention.dp_loss', 'weight')`` is
    "less_attention=dict(dp_loss=dict(weight=...))"."""
    text = f'{key}={value}'
    for part in reversed(path.split('.')):
        text = f'{part}=dict({"type=..., " if part == ATTENTION else ""}{text})'
    return text


def refuse_flat_keywords(owner: str, flat: Mapping[str, Any], sets: Sequence[Type['OptionSet']],
                         moved: Optional[Mapping[str, str]] = None) -> None:
    """Refuses the keyword arguments a backbone does not take (``flat``): an option that
    earlier versions took flat, named with its grouped spelling (from ``sets``, and
    ``moved``: a keyword -> where it is written now), any other as Python would."""
    if not flat:
        return
    spellings = dict(moved or {})
    for option_set in sets:
        for f in dataclasses.fields(option_set):
            old = option_set.flat_names.get(f.name, f.name)
            spellings.setdefault(old, grouped(_group_of(f), _key_of(f)))
    name = next(iter(flat))
    if name in spellings:
        raise TypeError(f'{owner}: {name} is written {spellings[name]} (options are grouped '
                        f'by concern; docs/guide.md, "Options")')
    raise TypeError(f'{owner}.__init__() got an unexpected keyword argument {name!r}')


@dataclass(frozen=True)
class OptionSet:
    """Base of the option sets; subclasses declare fields with :func:`option`.

    Attributes:
        flat_names: a field -> the flat keyword earlier versions took it as, where that is
            not the field's name (for the message that gives its grouped spelling).
    """
    flat_names: ClassVar[Dict[str, str]] = {}

    @classmethod
    def names(cls) -> Tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def la_names(cls) -> Tuple[str, ...]:
        """The fields that configure Less-Attention layers (``less_attention`` and its
        nested groups)."""
        return tuple(f.name for f in dataclasses.fields(cls)
                     if _group_of(f).split('.')[0] == LESS_ATTENTION)

    @classmethod
    def spelling(cls, name: str) -> str:
        """How a user writes field ``name``: 'less_attention.kernel_size'."""
        f = {f.name: f for f in dataclasses.fields(cls)}[name]
        return f'{_group_of(f)}.{_key_of(f)}'

    @classmethod
    def keys(cls, group: str) -> Dict[str, str]:
        """The keys of ``group`` this set takes -> their field names."""
        return {_key_of(f): f.name for f in dataclasses.fields(cls) if _group_of(f) == group}

    @classmethod
    def parse(cls, owner: str, given: Mapping[str, Any]) -> 'OptionSet':
        """The set with ``given`` (field names of this set, None-free) over the defaults, each
        checked; ``owner`` names the backbone in the errors, a field its user's spelling."""
        checks = {f.name: f.metadata.get('check') for f in dataclasses.fields(cls)}
        for name, value in given.items():
            check_value(owner, cls.spelling(name), value, checks[name])
        options = cls(**given)
        options.check(owner, given)
        return options

    def check(self, owner: str, given: Mapping[str, Any]) -> None:
        """Rules between options; ``given``: what the user set (the rest are defaults)."""


def read_groups(owner: str, groups: Mapping[str, Optional[Mapping[str, Any]]],
                sets: Sequence[Type['OptionSet']],
                elsewhere: Callable[[str, str], str] = lambda group, key: ''
                ) -> Dict[Type['OptionSet'], Dict[str, Any]]:
    """The user's group dicts (``groups``: keyword -> a dict or None) -> for each of
    ``sets``, the field values given (None-free). A key no set takes in its group is refused
    naming the keys the group takes; ``elsewhere(group, key)`` may add where it does apply
    (another attention kind). A nested group ('less_attention.dp_loss') is a dict under its
    key."""
    takes: Dict[str, Dict[str, Tuple[Type[OptionSet], str]]] = {}
    for option_set in sets:
        for f in dataclasses.fields(option_set):
            takes.setdefault(_group_of(f), {})[_key_of(f)] = (option_set, f.name)
    given: Dict[Type[OptionSet], Dict[str, Any]] = {s: {} for s in sets}

    def read(group: str, values) -> None:
        if values is None:
            return
        if not isinstance(values, Mapping):
            raise TypeError(f'{owner}: {group} must be a dict of its options (keys: '
                            f'{sorted(takes.get(group, {}))}), got {values!r}')
        for key, value in values.items():
            if f'{group}.{key}' in takes:
                read(f'{group}.{key}', value)
            elif key in takes.get(group, {}):
                if value is not None:
                    option_set, name = takes[group][key]
                    given[option_set][name] = value
            else:
                known = sorted(takes.get(group, {})) + sorted(
                    g[len(group) + 1:] for g in takes if g.startswith(group + '.'))
                raise ValueError(f'{owner}: {group}.{key} is not an option here; {group} '
                                 f'takes {known or "nothing"}{elsewhere(group, key)}')

    for group, values in groups.items():
        read(group, values)
    return given


@dataclass(frozen=True)
class DPLossOptions(OptionSet):
    """The Diagonality Preserving loss of Less-Attention layers (``dp_loss.py``), given as
    ``less_attention=dict(dp_loss=dict(weight=..., form=..., margin=...))``.

    Attributes:
        weight: its weight (0 turns it off and skips its computation; default: the backbone
            class's, 1.0 for LaViT and LaViTPlain); reported as ``loss_dp`` by lavit_mm's task
            models.
        form: which loss (docs/design.md, "DP loss"): 'ours' (symmetry and dominance with a
            margin, on the attention probabilities), 'paper' (the paper's printed formula on
            the transformed scores, divided by the number of entries) or 'paper-corrected'
            (the printed symmetry term, the dominance term with the sign the text intends,
            hinged at the margin).
        margin: the dominance margin m of 'ours' and 'paper-corrected': a diagonal entry
            should be at least (1 + m) times every other entry of its row ('ours'), or its
            score ln(1 + m) above the mean score of the row's other entries
            ('paper-corrected'). 0 lets uniform attention satisfy the loss.
    """
    flat_names = {'weight': 'dp_loss_weight', 'form': 'dp_form', 'margin': 'dp_margin'}
    weight: float = option(0., 'non_negative', DP_LOSS)
    form: str = option('ours', DP_FORMS, DP_LOSS)
    margin: float = option(1., 'non_negative', DP_LOSS)

    def check(self, owner, given):
        for name in ('form', 'margin'):
            if name in given and self.weight == 0:
                raise ValueError(f'{owner}: {self.spelling(name)} configures the DP loss, '
                                 f'which weight=0 turns off: remove it, or give the loss a '
                                 f'weight')
        if 'margin' in given and self.form == 'paper':
            raise ValueError(f"{owner}: {self.spelling('margin')} is not part of form='paper' "
                             f"(the printed formula has no margin): remove it, or use "
                             f"form='paper-corrected' / 'ours'")
