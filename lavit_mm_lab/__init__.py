from .complexity import ClassificationForm, count_flops, count_params

__all__ = ['ClassificationForm', 'count_flops', 'count_params']
