export { describeStorageContract } from './contract-suite';
