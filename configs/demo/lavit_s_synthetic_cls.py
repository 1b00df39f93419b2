# LaViT-S on the embedded ImageNet-layout set: the classification demo with the small arch,
# for the attention analysis of docs/attention_analysis.md (LaViT-S vs PVT-S after training).
_base_ = './lavit_t_synthetic_cls.py'

model = dict(backbone=dict(arch='pvt1-small'))  # PVT v1-based, as its recorded runs
