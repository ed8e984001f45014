import 'reflect-metadata';
import { runRole } from '@parley/platform';

runRole('gateway');
