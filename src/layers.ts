// `import 'dcgan/layers'`: registers the custom layers of ProGAN's and StyleGAN's generators (EqualizedConv2D,
// EqualizedDense, PixelNorm, FadeIn…, ConstantInput, NoiseInjection, AdaIN, WAverage) with @tensorflow/tfjs, so that
// tf.loadLayersModel loads their generator/ folders in the user's own code. The registry is that of the tfjs this
// package imports: the user's own when npm installs one copy of it (the same version as dcgan's).
import './model/progan-layers.js';
import './model/stylegan-layers.js';
