"Heavier encoder checks: the 2x-wide SimCLR v1 ResNet-50 loads a checkpoint in the converted format."
import torch, torchvision
from sscl.encoders import SimCLRv1Encoder

def widened_resnet50_state(width:int, seed:int=0) -> dict:
    """A state dict in the layout of the converted SimCLR v1 ResNet-50 of `width`, derived from torchvision's
    ResNet-50 by widening every channel dimension except the RGB input (random values)."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for k, v in torchvision.models.resnet50(weights=None).state_dict().items():
        if v.dim() == 0: out[k] = v.clone(); continue
        shape = list(v.shape)
        if k.startswith('fc.'): shape = [1000] + ([shape[1] * width] if len(shape) == 2 else [])
        else:
            shape[0] *= width
            if len(shape) == 4 and shape[1] != 3: shape[1] *= width
        out[k] = torch.randn(shape, generator=g) * 0.01 if v.is_floating_point() else torch.zeros(shape, dtype=v.dtype)
    return out

def test_width2_loads_strictly_and_has_4096_features(tmp_path):
    state = widened_resnet50_state(2)
    path = tmp_path/'resnet50-2x.pth'
    torch.save({'state_dict': state}, path)
    enc = SimCLRv1Encoder(str(path), width=2, embed_dim=4).eval()
    assert torch.equal(enc.backbone.conv1.weight, state['conv1.weight'])
    assert torch.equal(enc.backbone.layer4[2].conv3.weight, state['layer4.2.conv3.weight'])
    assert enc.backbone.out_features == 4096 == state['fc.weight'].shape[1]
    with torch.no_grad(): assert enc.backbone(torch.rand(1, 3, 32, 32)).shape == (1, 4096)

def test_width1_file_into_width2_names_the_mismatches(tmp_path):
    path = tmp_path/'resnet50-1x.pth'
    torch.save({'state_dict': widened_resnet50_state(1)}, path)
    try: SimCLRv1Encoder(str(path), width=2); raise AssertionError('a 1x file loaded into a 2x network')
    except ValueError as e:
        n = sum(1 for k, v in torchvision.models.resnet50().state_dict().items() if v.dim() and not k.startswith('fc.'))
        assert f'{n} mismatched shapes' in str(e)  # every tensor but the scalars and the ignored fc
        assert 'conv1.weight: checkpoint (64, 3, 7, 7) vs network (128, 3, 7, 7)' in str(e)
        assert str(path) in str(e)
