export { configureSharp, type SharpSettings } from './configure-sharp';
export { ACCEPTED_FORMATS, type AcceptedFormat } from './sniff-format';
export { probeImage, probeHeaderInProcess, type ImageProbe, type ImageLimits } from './image-probe';
export { renderVariant, type RenderOptions, type RenderedVariant } from './render-variant';
export { readImageSource, type ImageSource } from './image-source';
export { checkOutputBytes, checkOutputSize } from './output-limits';
export { computePlaceholders, type Placeholders } from './layout-placeholders';
export { encodeBmp, bmpFileBytes, type RawPixels } from './encode-bmp';
