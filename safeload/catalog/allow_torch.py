"""PyTorch names real checkpoints contain: rebuild functions, storages, dtypes, nn modules, optimizers."""

from __future__ import annotations

from safeload.catalog._types import PrefixRule

_STORAGES = (
    "Storage UntypedStorage TypedStorage ByteStorage CharStorage ShortStorage IntStorage LongStorage HalfStorage "
    "FloatStorage DoubleStorage BoolStorage BFloat16Storage ComplexFloatStorage ComplexDoubleStorage QUInt8Storage "
    "QInt8Storage QInt32Storage QUInt4x2Storage QUInt2x4Storage"
)
_DTYPES = (
    "float32 float float64 double float16 half bfloat16 complex32 chalf complex64 cfloat complex128 cdouble "
    "uint8 int8 int16 short int32 int int64 long bool quint8 qint8 qint32 quint4x2 quint2x4 "
    "float8_e4m3fn float8_e5m2 float8_e4m3fnuz float8_e5m2fnuz float8_e8m0fnu float4_e2m1fn_x2 uint16 uint32 uint64 "
    "uint1 uint2 uint3 uint4 uint5 uint6 uint7 int1 int2 int3 int4 int5 int6 int7 bits8 bits16 bits1x8 bits2x4 bits4x2"
)
_REBUILD = (
    "_rebuild_tensor _rebuild_tensor_v2 _rebuild_tensor_v3 _rebuild_parameter _rebuild_parameter_with_state "
    "_rebuild_qtensor _rebuild_sparse_tensor _rebuild_meta_tensor_no_storage _rebuild_wrapper_subclass "
    "_rebuild_device_tensor_from_numpy _rebuild_device_tensor_from_cpu_tensor _rebuild_nested_tensor "
    "_rebuild_xla_tensor _rebuild_mps_tensor _rebuild_sparse_csr_tensor"
)

# Pure tensor functions that modules store as attributes (TransformerEncoderLayer(activation=F.gelu), ...).
_FUNCTIONAL = (
    "relu relu6 gelu silu mish tanh sigmoid hardtanh hardswish hardsigmoid elu selu celu leaky_relu prelu rrelu "
    "glu logsigmoid softplus softsign softshrink hardshrink tanhshrink threshold softmax softmin log_softmax "
    "gumbel_softmax normalize linear bilinear dropout layer_norm group_norm batch_norm instance_norm rms_norm "
    "cross_entropy nll_loss mse_loss l1_loss smooth_l1_loss huber_loss binary_cross_entropy "
    "binary_cross_entropy_with_logits kl_div cosine_similarity pad interpolate conv1d conv2d conv3d "
    "max_pool1d max_pool2d avg_pool1d avg_pool2d adaptive_avg_pool1d adaptive_avg_pool2d one_hot embedding"
)
_TORCH_MATH = (
    "relu tanh sigmoid exp log abs sin cos sqrt rsqrt erf softmax log_softmax add mul sub div matmul mean sum "
    "clamp square neg reciprocal sign floor ceil round"
)

EXACT: frozenset[str] = frozenset(
    [f"torch.{n}" for n in (_STORAGES + " " + _DTYPES).split()]
    + [f"torch.storage.{n}" for n in _STORAGES.split()]
    + [f"torch._utils.{n}" for n in _REBUILD.split()]
    + [f"torch.nn.functional.{n}" for n in _FUNCTIONAL.split()]
    + [f"torch.{n}" for n in _TORCH_MATH.split()]
    + [f"torch.nn.init.{n}_" for n in "uniform normal constant ones zeros xavier_uniform xavier_normal "
       "kaiming_uniform kaiming_normal trunc_normal orthogonal".split()]
    + """
    torch.Size torch.device torch.Tensor torch.layout torch.memory_format torch.strided torch.sparse_coo
    torch.sparse_csr torch.sparse_csc torch.sparse_bsr torch.sparse_bsc torch._mkldnn
    torch.contiguous_format torch.channels_last torch.channels_last_3d torch.preserve_format
    torch.per_tensor_affine torch.per_tensor_symmetric torch.per_channel_affine torch.per_channel_symmetric
    torch.per_channel_affine_float_qparams torch.qscheme
    torch._tensor._rebuild_from_type torch._tensor._rebuild_from_type_v2 torch.nn.parameter.Parameter
    torch.nn.parameter.Buffer torch.nn.parameter.UninitializedParameter torch.serialization._get_layout
    torch.autograd.grad_mode.no_grad torch.return_types.max torch.return_types.min
    torch.FloatTensor torch.DoubleTensor torch.HalfTensor torch.BFloat16Tensor torch.ByteTensor torch.CharTensor
    torch.ShortTensor torch.IntTensor torch.LongTensor torch.BoolTensor
    torch.nn.modules.module._IncompatibleKeys torch.torch_version.TorchVersion
    torch.amp.grad_scaler.GradScaler torch.cuda.amp.grad_scaler.GradScaler torch.optim.optimizer._RequiredParameter
    """.split()
)

PREFIXES: tuple[PrefixRule, ...] = (
    PrefixRule("torch.nn.modules."),
    PrefixRule("torch.nn.utils.parametrize."),
    PrefixRule("torch.ao.nn."),
    PrefixRule("torch.nn.quantized."),
    PrefixRule("torch.optim.", exclude=("torch.optim._multi_tensor",)),
    PrefixRule("torch.distributions.", exclude=("torch.distributions.kl",)),
)

# Torch's own pickle-in-bytes for storages: allowed, and its bytes are scanned as a torch file.
NESTED_TORCH: frozenset[str] = frozenset({"torch.storage._load_from_bytes"})
